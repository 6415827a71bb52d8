from tracker.server import serve

serve()
