"""End-to-end benchmark of the pipeline on the local emulated AWS."""
