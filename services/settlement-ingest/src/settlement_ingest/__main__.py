"""`python -m settlement_ingest` runs the service with settings from the environment."""

from yibao.serve import serve

from settlement_ingest.app import create_app
from settlement_ingest.settings import IngestSettings

if __name__ == "__main__":
    serve(create_app, IngestSettings())
