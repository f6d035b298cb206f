// libFuzzer target for the broker's WebSocket input side: the opening handshake and the frame reader,
// fed what a hostile client could send. The first input byte picks how the rest is cut into reads,
// so frames split at every place are covered. Besides crashes and sanitizer reports it checks the
// reader's promises: a message is never longer than the limit, text is always UTF-8, control frames
// fit 125 bytes, and a failure carries a close code a server may send.

#include "ws_frames.h"
#include "ws_handshake.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>

using namespace commy::broker;

namespace {

constexpr qint64 kLimit = 4096;

void require(bool condition, const char* what)
{
    if (!condition) {
        std::fprintf(stderr, "fuzz_ws_frames: %s\n", what);
        std::abort();
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0)
        return 0;
    const qsizetype chunk = qsizetype(data[0] % 17) + 1;
    const QByteArrayView bytes(reinterpret_cast<const char*>(data + 1), qsizetype(size - 1));

    const WsHandshake handshake = readUpgradeRequest(bytes, 1024);
    require(handshake.status == WsHandshake::Status::NeedMore || !handshake.response.isEmpty(), "an answer");
    require(handshake.requestBytes <= bytes.size(), "the request within the input");

    WsFrameReader reader(kLimit);
    for (qsizetype at = 0; at < bytes.size(); at += chunk) {
        reader.append(bytes.sliced(at, qMin(chunk, bytes.size() - at)));
        WsMessage message;
        for (;;) {
            const WsFrameReader::Status status = reader.next(message);
            if (status == WsFrameReader::Status::NeedMore)
                break;
            if (status == WsFrameReader::Status::Failed) {
                const quint16 code = reader.failure().closeCode;
                require(
                    code == ws_close::kProtocolError || code == ws_close::kInvalidPayload || code == ws_close::kTooBig,
                    "a failure's close code");
                return 0;
            }
            require(message.payload.size() <= kLimit, "a message within the limit");
            if (message.opcode == WsOpcode::Text)
                require(isValidUtf8(message.payload), "text is UTF-8");
            if (message.opcode == WsOpcode::Close || message.opcode == WsOpcode::Ping
                || message.opcode == WsOpcode::Pong)
                require(message.payload.size() <= 125, "a control frame within 125 bytes");
        }
    }
    return 0;
}
