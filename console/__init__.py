"""The operator console and the public pages (cek status, verifikasi Surat Keterangan).

Server-rendered pages (Jinja2) with a little plain JavaScript: each page gets its data from the
platform's own /v1 API in the browser, with the user's credential. Mounted by the all-in-one
and by the enrollment service (the gateway routes ``/`` and ``/console`` there).
"""
