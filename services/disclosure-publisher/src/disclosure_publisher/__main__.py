"""`python -m disclosure_publisher` runs the service with settings from the environment."""

from yibao.serve import serve

from disclosure_publisher.app import create_app
from disclosure_publisher.settings import PublisherSettings

if __name__ == "__main__":
    serve(create_app, PublisherSettings())
