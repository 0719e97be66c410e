"""Message content, shared by every service that touches it: rendering templates with a
recipient's fields (``rendering``) and choosing a recipient's A/B variation
(``variations``). Pure functions: no I/O, so the campaign service (validation at save), the
gateway (render, preview) and the dispatcher (sending) all compute the same thing."""
