"""I2C sensor drivers and a byte-exact simulator. Knows nothing of crypto or networks."""
