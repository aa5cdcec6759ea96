"""The limits ``digitnet serve`` holds every client to, defined once (docs/limits.md lists them).

Plain numbers, importable without the web packages (the CLI's help text shows them).
"""

MAX_UPLOAD_BYTES = 10 * 2**20  # an image, raw or in its multipart form field (413 above)
MAX_HEADER_BYTES = 16 * 2**10  # a request's line and headers together (400 above)
MAX_MULTIPART_PARTS = 16  # the page sends one part; a few spare for other clients' extra fields (400 above)
MAX_PART_HEADERS = 16  # headers of one multipart part (400 above)
REQUEST_HEAD_SECONDS = 5.0  # for a connection to send a whole request head, from opening or its previous reply
BODY_SECONDS = 30.0  # to receive a whole body once its head is in (408 after)
KEEP_ALIVE_SECONDS = 5.0  # an idle keep-alive connection is closed after this
READ_SECONDS = 30.0  # default time budget of one read, waiting for a free reader excluded (504 after)
