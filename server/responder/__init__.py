"""The responder's mobile page (static/): plain HTML and JS on the public API, no build step."""
