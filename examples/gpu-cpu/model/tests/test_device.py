"""In dev the gate container must see the GPU the stage declares (EXPECT_CUDA=1 is
set by dev's spec): a tests gate that passed without it would be evidence of
nothing. Elsewhere this test is skipped."""

from __future__ import annotations

import os

import pytest
import torch


@pytest.mark.skipif(os.environ.get("EXPECT_CUDA") != "1", reason="this stage has no GPU")
def test_the_stage_gpu_is_visible() -> None:
    assert torch.cuda.is_available(), "the gate container got no GPU"
    assert torch.cuda.device_count() >= 1
