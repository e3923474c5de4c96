"""Presets pane: browse, edit, validate, estimate, save and launch presets."""

from tuner_tui.panes.presets.budget import MemoryBudget, memory_budget, render_budget
from tuner_tui.panes.presets.fields import FIELDS, Field, field_errors
from tuner_tui.panes.presets.pane import PresetsPane

__all__ = ["FIELDS", "Field", "MemoryBudget", "PresetsPane", "field_errors", "memory_budget", "render_budget"]
