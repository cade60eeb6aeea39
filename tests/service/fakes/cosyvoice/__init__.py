"""A fake of the `cosyvoice` package: exactly the public API surface voicefleet's adapter uses (see
/work/shared/NOTES.md), with no model inside. The real package and its weights cannot exist on the CI machine."""
