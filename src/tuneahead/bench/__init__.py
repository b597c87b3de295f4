"""TuneBench: task families, scenario generator, campaign runner (real fine-tuning runs)."""
