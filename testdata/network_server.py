"""
    Name: network_server.py
    Author:
    Created:
    Purpose: A simple network server

    The tutorial's server (python-network-client-server), as its text has it,
    with only what stops it running in a test changed, each change marked
    "sockstep:": the port, the host and how many clients to serve come from
    the command line, the port the kernel chose is printed when it is 0, the
    loop ends after those clients, and main() is called at the top level.

    usage: python3 -u network_server.py [PORT [CLIENTS [HOST]]]
"""
# Python built in socket library
import socket
import sys  # sockstep: for the command line

# The server will accept a connection on any interface
SERVER_IP = sys.argv[3] if len(sys.argv) > 3 else ""  # sockstep: was ""

# Port to listen on (non-privileged ports are > 1023)
# Listening server port
PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 8081  # sockstep: was 8081

# sockstep: how many clients to serve before the server ends
CLIENTS = int(sys.argv[2]) if len(sys.argv) > 2 else 1


def main():
    global PORT  # sockstep: so the port the kernel chose can be printed
    # Create a socket object
    server_socket = socket.socket(
        socket.AF_INET,          # TCP/IP v4 address
        socket.SOCK_STREAM       # Create TCP transport layer socket
    )

    # Bind socket to a tuple (IP Address, Port Address)
    server_socket.bind((SERVER_IP, PORT))
    PORT = server_socket.getsockname()[1]  # sockstep: the real port, for port 0

    # Start server socket listener, waiting for a connection
    server_socket.listen()
    print(f"Listening for incoming connections on port {PORT} . . .")

    for _ in range(CLIENTS):  # sockstep: was while True
        # Accept a connection
        # Return socket object and IP address
        connection, client_address = server_socket.accept()
        # Print returned socket information for debugging
        print(connection)
        print(client_address)
        print(f"Connection from: {client_address}")

        # Send message to client, encode string to bytestream
        # for transmission over the network
        connection.send("You are connected".encode("utf-8"))

        # Receive data into a 1024 byte buffer
        data = connection.recv(1024)
        print(f"The client has connected")

        if data:
            # If the server receives data
            # Convert bytestream to text/string
            message = data.decode("utf-8")
            print(message)

            # Close the connection
            connection.close()
            print("Client disconnected")
            print(f"Listening for incoming connections on port {PORT} . . .")


main()  # sockstep: was indented, so the program never ran
