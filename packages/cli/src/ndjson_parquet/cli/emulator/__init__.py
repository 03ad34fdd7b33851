"""The local emulated AWS: moto, with the workarounds the pipeline needs."""
