"""What tuning leaves for the compiler: the tuning database, the signature that keys a layer,
the schedule space of a layer and the rules learned from tuning. `pattern-apply-tuning` reads
it; the tuner (`tuning/`) writes it. Nothing here measures, compiles or opens a device."""
