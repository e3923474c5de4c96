"""Preset schema and loading."""
