#pragma once

// Inside the broker a failure is already the Error a client will get: handlers and the parts they
// call return BrokerExpected<T>, and the dispatcher encodes the error unchanged.

#include <commy/broker/store.h>
#include <commy/protocol/messages.h>
#include <commy/shm/expected.h>
#include <commy/shm/region_error.h>

namespace commy::broker {

template <class T> using BrokerExpected = Expected<T, protocol::Error>;

inline Unexpected<protocol::Error> fail(protocol::ErrorCode code, const QString& message)
{
    return unexpected(protocol::Error { code, message, std::nullopt });
}

// A store failure as a reply; `what` names the object ("tenant 'a'").
Unexpected<protocol::Error> storeFailure(StoreError error, const QString& what);
// A region failure as a reply; `what` names the object ("variable 'x'").
Unexpected<protocol::Error> regionFailure(shm::RegionError error, const QString& what);

} // namespace commy::broker
