"""`gauntlet gate`: smoke, load with thresholds, drills under load and journeys, then reports."""
