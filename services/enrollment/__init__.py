"""Enrollment: kecamatan systems post recordings; validation at the counter; idempotent intake;
the public status timeline of each receipt."""
