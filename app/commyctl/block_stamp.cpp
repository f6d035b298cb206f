#include "block_stamp.h"

#include <algorithm>
#include <cstring>

namespace {

constexpr std::uint32_t kMagic = 0x43'4d'59'42; // "CMYB"

std::uint64_t mix64(std::uint64_t x)
{
    // splitmix64's finaliser: cheap, and neighbouring inputs give unrelated outputs.
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

std::uint32_t checkOf(std::uint32_t length, std::uint32_t key)
{
    return static_cast<std::uint32_t>(mix64((std::uint64_t { length } << 32 | key) ^ kMagic));
}

std::uint64_t patternWord(std::uint32_t key, std::uint64_t index)
{
    return mix64((std::uint64_t { key } << 32) + index);
}

} // namespace

namespace commy::ctl {

void writeStampedBlock(void* payload, std::uint32_t length, std::uint32_t key)
{
    const BlockStamp stamp { kMagic, length, key, checkOf(length, key) };
    auto* bytes = static_cast<unsigned char*>(payload);
    std::memcpy(bytes, &stamp, sizeof stamp);
    const std::uint64_t body = length - sizeof stamp;
    for (std::uint64_t i = 0; i * 8 < body; ++i) {
        const std::uint64_t word = patternWord(key, i);
        std::memcpy(bytes + sizeof stamp + i * 8, &word, std::min<std::uint64_t>(8, body - i * 8));
    }
}

std::optional<BlockStamp> readStamp(const void* payload)
{
    BlockStamp stamp;
    std::memcpy(&stamp, payload, sizeof stamp);
    if (stamp.magic != kMagic || stamp.check != checkOf(stamp.length, stamp.key))
        return std::nullopt;
    return stamp;
}

QString verifyStampedBlock(const void* payload, std::uint32_t length, std::uint32_t key)
{
    const auto stamp = readStamp(payload);
    if (!stamp)
        return QStringLiteral("block stamp is damaged (magic or check word wrong)");
    if (stamp->length != length || stamp->key != key)
        return QStringLiteral("block stamp says length %1 key %2, expected length %3 key %4")
            .arg(stamp->length)
            .arg(stamp->key)
            .arg(length)
            .arg(key);
    const auto* bytes = static_cast<const unsigned char*>(payload) + sizeof(BlockStamp);
    const std::uint64_t body = length - sizeof(BlockStamp);
    for (std::uint64_t i = 0; i * 8 < body; ++i) {
        const std::uint64_t word = patternWord(key, i);
        const std::uint64_t n = std::min<std::uint64_t>(8, body - i * 8);
        if (std::memcmp(bytes + i * 8, &word, n) != 0)
            return QStringLiteral("block pattern differs at byte %1 of %2").arg(sizeof(BlockStamp) + i * 8).arg(length);
    }
    return {};
}

} // namespace commy::ctl
