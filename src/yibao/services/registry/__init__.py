"""Registry: persons, units, enrolments, the residents register, life events, heirs, institutions."""
