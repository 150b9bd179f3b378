"""What the dashboard's pages show, without Streamlit: forms from the spec models, status, tables
and texts. The Streamlit widgets themselves live in ``pages/_widgets/``; only ``app.py`` and
``pages/`` import streamlit."""
