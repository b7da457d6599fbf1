"""Grid strategy on one venue and market (`strategies.grid.strategy.GridStrategy`, config `GridConfig`)."""

from strategies.grid.strategy import GridStrategy, Slot, build_slots, grid_step

__all__ = ["GridStrategy", "Slot", "build_slots", "grid_step"]
