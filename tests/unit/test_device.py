"""Device choice: ``auto`` keeps MLPs on CPU; a CUDA request that cannot be met is refused
before a worker claims anything. (torch.cuda is patched where a GPU must be pretended.)"""

from __future__ import annotations

import pytest
import torch

from autorl.cli import main
from autorl.errors import UsageError
from autorl.training.device import resolve_device


def pretend_gpus(monkeypatch, count: int) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: count > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)


def test_auto_puts_image_policies_on_a_gpu_and_mlps_on_the_cpu(monkeypatch):
    pretend_gpus(monkeypatch, 2)
    assert resolve_device("auto", "CnnPolicy") == "cuda"
    assert resolve_device("auto", "MlpPolicy") == "cpu"
    assert resolve_device("cuda:1", "MlpPolicy") == "cuda:1"
    pretend_gpus(monkeypatch, 0)
    assert resolve_device("auto", "CnnPolicy") == "cpu"


@pytest.mark.parametrize(
    ("gpus", "device", "message"),
    [
        (0, "cuda", "no CUDA device is visible"),
        (2, "cuda:2", "cuda:0..cuda:1"),
        (2, "gpu", "use auto, cpu, cuda or cuda:N"),
        (2, "cuda:x", "use auto, cpu, cuda or cuda:N"),
    ],
)
def test_devices_that_cannot_be_used_are_refused(monkeypatch, gpus, device, message):
    pretend_gpus(monkeypatch, gpus)
    with pytest.raises(UsageError, match=message):
        resolve_device(device, "MlpPolicy")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_worker_asked_for_cuda_without_one_stops_before_claiming(sqlite_url, capsys):
    code = main(["worker", "--device", "cuda", "--exit-when-idle", "--storage", sqlite_url])
    assert code == 2
    assert "no CUDA device is visible" in capsys.readouterr().err


def test_the_cpu_trains_on_one_thread_a_gpu_worker_on_its_share():
    from autorl.training.device import training_threads

    assert training_threads("MlpPolicy", "cpu", 8) == 1
    assert training_threads("CnnPolicy", "cpu", 8) == 1
    assert training_threads("CnnPolicy", "cuda", 8) == 8
    assert training_threads("MultiInputPolicy", "cpu", 0) == 1
    assert training_threads("MlpPolicy", "cuda", 4) == 4
