"""Shipped TOML presets, validated by core.config.schema."""
