"""The Open Inference Protocol's bodies (`predictors.api.oip`), as its REST specification shapes them
(`../shared/specs/open-inference-protocol/open_inference_rest.yaml`): documented in `/openapi.json`."""
from __future__ import annotations

from typing import Any, Union

from pydantic import BaseModel, Field

__all__ = ['OipError', 'Live', 'Ready', 'ModelReady', 'ServerMetadata', 'TensorMetadata', 'ModelMetadata',
           'RequestInput', 'RequestOutput', 'InferenceRequest', 'ResponseOutput', 'InferenceResponse']

Parameters = dict[str, Union[str, float, int, bool]]
Data = list[Any]          # row-major elements, or nested lists of them


class OipError(BaseModel):
    error: str = Field(description='why the request was not answered')


class Live(BaseModel):
    live: bool


class Ready(BaseModel):
    ready: bool


class ModelReady(BaseModel):
    name: str
    ready: bool


class ServerMetadata(BaseModel):
    name: str
    version: str
    extensions: list[str]


class TensorMetadata(BaseModel):
    name: str
    datatype: str = Field(description='BOOL, INT64, FP32, FP64, BYTES…')
    shape: list[int] = Field(description='-1: any size')


class ModelMetadata(BaseModel):
    name: str
    versions: list[str] = []
    platform: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]


class RequestInput(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    parameters: Parameters | None = None
    data: Data


class RequestOutput(BaseModel):
    name: str
    parameters: Parameters | None = None


class InferenceRequest(BaseModel):
    id: str | None = None
    parameters: Parameters | None = None
    inputs: list[RequestInput]
    outputs: list[RequestOutput] | None = None


class ResponseOutput(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    parameters: Parameters | None = None
    data: Data | None = None


class InferenceResponse(BaseModel):
    model_name: str
    model_version: str | None = None
    id: str | None = None
    parameters: Parameters | None = None
    outputs: list[ResponseOutput]
