"""The interface in the person's language: gettext catalogues (Babel), locale choice and
number and date formatting."""
