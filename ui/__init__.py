"""The Streamlit app's pages and the cached objects they share; `app.py` wires them up."""
