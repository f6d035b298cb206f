#pragma once

// The broker's hottest request, WriteVariable, read without building a JSON document, when it comes
// in exactly the compact form encodeRequest() writes: keys sorted, no whitespace, no escapes, names
// of name characters, an integer or plain-string id. Anything else (other spacing or key order,
// escapes, extra fields, a number written as 1e3) returns nullopt and goes to the general decoder,
// which then decides. Whatever this accepts, the general decoder accepts with the same result; the
// codec fuzzer checks that on every input.

#include <commy/protocol/codec.h>

#include <QByteArrayView>

#include <optional>

namespace commy::protocol::detail {

std::optional<RequestFrame> decodeCanonicalWrite(QByteArrayView frame);
// decodeRequest() without this shortcut (for the fuzzer's comparison).
DecodeResult decodeRequestInGeneral(QByteArrayView frame);

} // namespace commy::protocol::detail
