from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class LogLine(_message.Message):
    __slots__ = ("line", "source", "tag", "logtypeid", "timings")
    class Tag(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    LINE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    LOGTYPEID_FIELD_NUMBER: _ClassVar[int]
    TIMINGS_FIELD_NUMBER: _ClassVar[int]
    line: str
    source: str
    tag: _containers.RepeatedCompositeFieldContainer[LogLine.Tag]
    logtypeid: int
    timings: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, line: _Optional[str] = ..., source: _Optional[str] = ..., tag: _Optional[_Iterable[_Union[LogLine.Tag, _Mapping]]] = ..., logtypeid: _Optional[int] = ..., timings: _Optional[_Iterable[int]] = ...) -> None: ...
