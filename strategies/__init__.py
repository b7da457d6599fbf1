"""Strategies: YAML configs, decision code shared by live, paper and backtest."""
