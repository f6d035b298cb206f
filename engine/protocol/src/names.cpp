#include <commy/protocol/names.h>

namespace commy::protocol {

bool isValidName(QStringView name)
{
    if (name.isEmpty() || name.size() > kMaxNameLength)
        return false;
    if (name == u"." || name == u"..")
        return false;
    for (const QChar c : name) {
        const char16_t u = c.unicode();
        const bool allowed = (u >= u'A' && u <= u'Z') || (u >= u'a' && u <= u'z') || (u >= u'0' && u <= u'9')
            || u == u'_' || u == u'.' || u == u'-';
        if (!allowed)
            return false;
    }
    return true;
}

} // namespace commy::protocol
