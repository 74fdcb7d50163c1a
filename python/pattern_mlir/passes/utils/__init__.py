"""What the passes share: reading constants and linalg structure, walks, erasing dead producers."""
