"""Model card templates (package data; this file lets importlib.resources find them in editable installs)."""
