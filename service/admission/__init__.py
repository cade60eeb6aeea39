"""Admission control: bounded queue, dynamic batching, deadlines, cancellation and drain in front of the engine."""

from service.admission.controller import AdmissionController, default_batch_key
from service.admission.errors import (
    AdmissionError,
    ClientGoneError,
    DeadlineExceededError,
    DrainingError,
    EngineOverloadedError,
    NotReadyError,
    QueueFullError,
)
from service.admission.model import AdmissionObserver, AdmissionSettings, AdmissionStats

__all__ = [
    "AdmissionController",
    "AdmissionError",
    "AdmissionObserver",
    "AdmissionSettings",
    "AdmissionStats",
    "ClientGoneError",
    "DeadlineExceededError",
    "DrainingError",
    "EngineOverloadedError",
    "NotReadyError",
    "QueueFullError",
    "default_batch_key",
]
