"""Baselines compared with the predictor on the same runs and the same cost accounting."""
