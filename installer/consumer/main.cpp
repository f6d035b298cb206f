// commy_consumer: uses the installed engine the way a program of its own would - a region file with
// a SharedString in it, read back, and one protocol message through the codec - and checks the
// client library links. Prints one line per step; exits non-zero on the first failure.
// Usage: commy_consumer DIR   (a writable folder for the region file)

#include <commy/client/broker_client.h>
#include <commy/protocol/codec.h>
#include <commy/shm/region.h>
#include <commy/shm/shared_string.h>

#include <QCoreApplication>

#include <cstdio>
#include <string>
#include <variant>

namespace {

int fail(const char* step, const char* why)
{
    std::fprintf(stderr, "commy_consumer: %s: %s\n", step, why);
    return 1;
}

} // namespace

int main(int argc, char** argv)
{
    QCoreApplication app(argc, argv);
    if (argc != 2)
        return fail("usage", "commy_consumer DIR");

    // engine_shm: create a region, put a string under a name, read it back through a fresh attach.
    const std::string path = std::string(argv[1]) + "/consumer.region";
    commy::shm::RegionOptions options;
    options.mode = commy::shm::OpenMode::CreateOnly;
    options.size = 1 << 20;
    auto region = commy::shm::Region::open(path, options);
    if (!region)
        return fail("create region", commy::shm::errorMessage(region.error()));
    // Writers are attached: what a process allocates belongs to its slot until it is published.
    auto slot = (*region)->attach("commy_consumer");
    if (!slot)
        return fail("attach region", commy::shm::errorMessage(slot.error()));
    const std::string text = "hello from an installed Commy";
    auto written = commy::shm::SharedString::fromStrIn(**region, "greeting", text);
    if (!written)
        return fail("write string", commy::shm::errorMessage(written.error()));
    auto attached = commy::shm::SharedString::attach(**region, "greeting");
    if (!attached)
        return fail("attach string", commy::shm::errorMessage(attached.error()));
    auto readBack = attached->toStd();
    if (!readBack)
        return fail("read string", commy::shm::errorMessage(readBack.error()));
    if (*readBack != text)
        return fail("read string", "the text read back differs");
    std::printf("region %s: read back \"%s\"\n", path.c_str(), readBack->c_str());

    // engine_protocol: one request encoded to JSON and decoded to the same typed message.
    const commy::protocol::RequestId id = QStringLiteral("1");
    const commy::protocol::Request request = commy::protocol::CreateTenant { QStringLiteral("acme") };
    const QByteArray frame = commy::protocol::encodeRequest(id, request);
    const auto decoded = commy::protocol::decodeRequest(frame);
    if (!decoded)
        return fail("decode", qPrintable(decoded.error().message));
    if (decoded->id != id || decoded->request != request)
        return fail("decode", "the decoded message differs from the encoded one");
    std::printf("protocol: %s\n", frame.constData());

    // engine_client: a client that is not connected yet.
    commy::client::BrokerClient client;
    if (client.state() != commy::client::BrokerClient::State::Disconnected)
        return fail("client", "a new client is not disconnected");
    std::printf("client: disconnected, as created\n");
    return 0;
}
