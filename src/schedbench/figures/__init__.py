"""The report's figures: :mod:`.registry` names them (light, read when the workflow is parsed), :mod:`.style`
holds the shared look, :mod:`.schedules` and :mod:`.results` draw, :mod:`.build` writes the PNG files."""
