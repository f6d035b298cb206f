// libFuzzer target for the wire codec. Every input is read both ways a peer would read it: as a
// request (the broker's side) and as a server frame (the client's side), a Result's payload as the
// answer to every request type. Whatever decodes must re-encode to bytes that decode to the same
// value; a difference aborts, so it is reported like a crash.

#include <commy/protocol/codec.h>
#include <commy/protocol/server_codec.h>

#include "canonical_write.h"

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <type_traits>
#include <utility>
#include <variant>

using namespace commy::protocol;

namespace {

void require(bool condition, const char* what)
{
    if (!condition) {
        std::fprintf(stderr, "fuzz_codec: %s\n", what);
        std::abort();
    }
}

// One default value of every Request alternative: decodeResult only looks at the alternative.
template <std::size_t... I> std::array<Request, sizeof...(I)> makeRequests(std::index_sequence<I...>)
{
    return { Request(std::in_place_index<I>)... };
}

const std::array<Request, std::variant_size_v<Request>>& everyRequestType()
{
    static const auto requests = makeRequests(std::make_index_sequence<std::variant_size_v<Request>>());
    return requests;
}

void checkRequest(QByteArrayView input)
{
    // The canonical WriteVariable shortcut agrees with the general decoder whenever it answers.
    if (const auto shortcut = detail::decodeCanonicalWrite(input)) {
        const DecodeResult general = detail::decodeRequestInGeneral(input);
        require(general.hasValue(), "the WriteVariable shortcut accepted what the general decoder rejects");
        require(*general == *shortcut, "the WriteVariable shortcut decoded another value");
    }
    const DecodeResult decoded = decodeRequest(input);
    if (!decoded) {
        require(decoded.error().code == ErrorCode::InvalidRequest, "a rejected request is not INVALID_REQUEST");
        require(!decoded.error().message.isEmpty(), "a rejected request has no message");
        // The broker's answer to it is a frame every client can read, carrying the same id.
        const auto reply = decodeServerFrame(encodeError(decoded.error()));
        require(reply.hasValue(), "the error reply to a rejected request does not decode");
        const auto* error = std::get_if<ErrorFrame>(&*reply);
        require(error && error->id == decoded.error().id, "the error reply lost the request's id");
        return;
    }
    const DecodeResult again = decodeRequest(encodeRequest(decoded->id, decoded->request));
    require(again.hasValue(), "a re-encoded request does not decode");
    require(*again == *decoded, "a re-encoded request decodes to another value");
}

void checkResult(const ResultFrame& frame)
{
    for (const Request& answered : everyRequestType()) {
        const auto payload = decodeResult(answered, frame.data);
        if (!payload)
            continue;
        const auto reread = decodeServerFrame(encodeResult(frame.id, *payload));
        require(reread.hasValue(), "a re-encoded Result does not decode");
        const auto* result = std::get_if<ResultFrame>(&*reread);
        require(result && result->id == frame.id, "a re-encoded Result lost its id");
        const auto again = decodeResult(answered, result->data);
        require(again.hasValue(), "a re-encoded Result payload does not decode");
        require(*again == *payload, "a re-encoded Result payload decodes to another value");
    }
}

void checkServerFrame(QByteArrayView input)
{
    const auto decoded = decodeServerFrame(input);
    if (!decoded) {
        require(!decoded.error().message.isEmpty(), "a rejected server frame has no message");
        return;
    }
    if (const auto* result = std::get_if<ResultFrame>(&*decoded)) {
        checkResult(*result);
        return;
    }
    const QByteArray encoded = std::visit(
        [](const auto& frame) {
            using Frame = std::decay_t<decltype(frame)>;
            if constexpr (std::is_same_v<Frame, ResultFrame>)
                return QByteArray(); // handled above
            else if constexpr (std::is_same_v<Frame, ErrorFrame>)
                return encodeError(frame.id, frame.error);
            else
                return encodePush(frame);
        },
        *decoded);
    const auto again = decodeServerFrame(encoded);
    require(again.hasValue(), "a re-encoded server frame does not decode");
    require(*again == *decoded, "a re-encoded server frame decodes to another value");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const QByteArrayView input(data, qsizetype(size));
    checkRequest(input);
    checkServerFrame(input);
    return 0;
}
