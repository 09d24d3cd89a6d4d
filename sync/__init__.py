"""Sync with the township hub: bundles, HTTP and USB transports (issue: sync). Builds on station.services."""
