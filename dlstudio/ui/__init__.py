"""Dashboard helpers: forms from the spec models and the widgets that render them."""
