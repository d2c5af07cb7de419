"""Hypothesis strategies shared by the APDU tests, and a check that they generate valid values."""

from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.dlms_cosem.dlms.apdu.common import (
    CosemAttributeDescriptor,
    CosemMethodDescriptor,
    InvokeIdAndPriority,
)
from custom_components.dlms_cosem.dlms.apdu.selective_access import (
    CaptureObjectDefinition,
    EntryDescriptor,
    SelectiveAccessDescriptor,
)
from custom_components.dlms_cosem.dlms.axdr import Data, decode_data_bytes, encode_data
from custom_components.dlms_cosem.dlms.obis import ObisCode

obis_codes = st.builds(ObisCode, *(st.integers(0, 255) for _ in range(6)))
invoke_ids = st.builds(InvokeIdAndPriority, st.integers(0, 15), st.booleans(), st.booleans())
attribute_descriptors = st.builds(
    CosemAttributeDescriptor, st.integers(0, 0xFFFF), obis_codes, st.integers(-128, 127)
)
method_descriptors = st.builds(
    CosemMethodDescriptor, st.integers(0, 0xFFFF), obis_codes, st.integers(-128, 127)
)

simple_data = st.one_of(
    st.just(Data.null_data()),
    st.booleans().map(Data.boolean),
    st.integers(0, 0xFFFFFFFF).map(Data.double_long_unsigned),
    st.integers(-(2**31), 2**31 - 1).map(Data.double_long),
    st.integers(0, 0xFFFF).map(Data.long_unsigned),
    st.integers(-128, 127).map(Data.integer),
    st.integers(0, 255).map(Data.enum),
    st.binary(max_size=40).map(Data.octet_string),
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20).map(
        Data.visible_string
    ),
)
data_values = st.recursive(
    simple_data,
    lambda children: st.one_of(
        st.lists(children, max_size=4).map(lambda items: Data.structure(*items)),
        st.lists(children, max_size=4).map(lambda items: Data.array(*items)),
    ),
    max_leaves=12,
)
capture_objects = st.builds(
    CaptureObjectDefinition,
    st.integers(0, 0xFFFF),
    obis_codes,
    st.integers(-128, 127),
    st.integers(0, 0xFFFF),
)
entry_descriptors = st.builds(
    EntryDescriptor,
    st.integers(0, 0xFFFFFFFF),
    st.integers(0, 0xFFFFFFFF),
    st.integers(0, 0xFFFF),
    st.integers(0, 0xFFFF),
)
selective_access = st.one_of(
    entry_descriptors.map(SelectiveAccessDescriptor.of),
    st.builds(SelectiveAccessDescriptor, st.integers(0, 255), data_values),
)


@settings(max_examples=50)
@given(data_values, selective_access)
def test_strategies_produce_encodable_values(value: Data, selection: SelectiveAccessDescriptor) -> None:
    assert decode_data_bytes(encode_data(value)) == value
    assert selection.encode()[0] == selection.access_selector
