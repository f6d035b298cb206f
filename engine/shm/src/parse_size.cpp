#include <commy/shm/region.h>

#include <cctype>

namespace commy::shm {

RegionExpected<std::uint64_t> parseSize(std::string_view text)
{
    std::uint64_t value = 0;
    std::size_t i = 0;
    for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
        const std::uint64_t digit = static_cast<std::uint64_t>(text[i] - '0');
        if (value > (~std::uint64_t { 0 } - digit) / 10)
            return unexpected(RegionError::InvalidArgument);
        value = value * 10 + digit;
    }
    if (i == 0)
        return unexpected(RegionError::InvalidArgument);
    std::string_view suffix = text.substr(i);
    unsigned shift = 0;
    if (!suffix.empty()) {
        switch (std::toupper(static_cast<unsigned char>(suffix[0]))) {
        case 'K':
            shift = 10;
            break;
        case 'M':
            shift = 20;
            break;
        case 'G':
            shift = 30;
            break;
        case 'T':
            shift = 40;
            break;
        case 'B':
            break;
        default:
            return unexpected(RegionError::InvalidArgument);
        }
        suffix.remove_prefix(1);
        if (shift != 0 && (suffix == "iB" || suffix == "B"))
            suffix = {};
        if (!suffix.empty())
            return unexpected(RegionError::InvalidArgument);
    }
    if (shift != 0 && value > (~std::uint64_t { 0 } >> shift))
        return unexpected(RegionError::InvalidArgument);
    return value << shift;
}

} // namespace commy::shm
