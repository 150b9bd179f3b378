"""Reading, storing, profiling and checking user data."""
