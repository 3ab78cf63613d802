"""The interim certificate's signed token (docs/certificate-token.md), shared by whoever checks
one: the certificate service (which signs and verifies it), the console (which reads an uploaded
QR code) and `ektp verify` (offline, at a counter). `token` is the format, `offline` reads it from
a photo, a scan or the PDF and tells the verdict in words. `reasons` holds the public words for
why a certificate ended, which the enrollment service's public timeline shows too."""
