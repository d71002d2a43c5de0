from mozuma.models.types import ModelWithState

__all__ = ["ModelWithState"]
