"""The Hugging Face Hub: ``download`` (transport only), ``cards`` (model cards), ``publish`` (``push``)."""

from ganzoo.hub.download import HUB_PREFIX, HubError, HubName, download_folder, is_hub_name, verify_sha256
from ganzoo.hub.publish import push

__all__ = ["HUB_PREFIX", "HubError", "HubName", "download_folder", "is_hub_name", "push", "verify_sha256"]
