"""Dashboard logic without streamlit: forms from the spec models, status, page data."""
