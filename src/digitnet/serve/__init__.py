"""``digitnet serve``: a local web page to draw digits or drop a photo and watch the network read them.

``app.create_app(model)`` builds the web app (page, assets and JSON API), ``upload`` takes the image
out of a request without touching the disk, ``readers`` read it (in a thread, or in a pool of reader
processes), ``payload`` turns a reading into the API's JSON and ``server`` listens on a socket and
runs the app with uvicorn.
"""
