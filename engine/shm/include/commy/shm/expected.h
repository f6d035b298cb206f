#pragma once

// A minimal std::expected stand-in (C++23 is not available to us): the engine reports failures as
// values, never as exceptions.

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

namespace commy {

template <class E> struct Unexpected {
    E error;
};

template <class E> Unexpected<std::decay_t<E>> unexpected(E&& error) { return { std::forward<E>(error) }; }

template <class T, class E> class [[nodiscard]] Expected {
public:
    Expected(const T& value)
        : m_state(std::in_place_index<0>, value)
    {
    }
    Expected(T&& value)
        : m_state(std::in_place_index<0>, std::move(value))
    {
    }
    // Like std::expected: a value of another type that converts to T (an alternative of a variant T).
    template <class U>
    requires(!std::is_same_v<std::remove_cvref_t<U>,
                 T> && !std::is_same_v<std::remove_cvref_t<U>, Expected> && std::is_convertible_v<U&&, T>)
        Expected(U&& value)
        : m_state(std::in_place_index<0>, T(std::forward<U>(value)))
    {
    }
    template <class G>
    Expected(Unexpected<G> error)
        : m_state(std::in_place_index<1>, std::move(error.error))
    {
    }

    bool hasValue() const { return m_state.index() == 0; }
    explicit operator bool() const { return hasValue(); }

    T& value() &
    {
        assert(hasValue());
        return std::get<0>(m_state);
    }
    const T& value() const&
    {
        assert(hasValue());
        return std::get<0>(m_state);
    }
    T&& value() &&
    {
        assert(hasValue());
        return std::get<0>(std::move(m_state));
    }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const E& error() const
    {
        assert(!hasValue());
        return std::get<1>(m_state);
    }

    template <class U> T valueOr(U&& fallback) const
    {
        return hasValue() ? std::get<0>(m_state) : static_cast<T>(std::forward<U>(fallback));
    }

private:
    std::variant<T, E> m_state;
};

template <class E> class [[nodiscard]] Expected<void, E> {
public:
    Expected() = default;
    template <class G>
    Expected(Unexpected<G> error)
        : m_failed(true)
        , m_error(std::move(error.error))
    {
    }

    bool hasValue() const { return !m_failed; }
    explicit operator bool() const { return hasValue(); }
    const E& error() const
    {
        assert(m_failed);
        return m_error;
    }

private:
    bool m_failed = false;
    E m_error {};
};

} // namespace commy
