"""Scenario folders shipped with the simulator (`demo/`, synthetic) and their generator (`make_demo.py`)."""
