"""
    Name: network_client.py
    Author:
    Created:
    Purpose: Simple network client

    The tutorial's client (python-network-client-server), as its text has it,
    with only what stops it running in a test changed, each change marked
    "sockstep:": the port and host come from the command line, time is
    imported, and main() is called at the top level.

    usage: python3 -u network_client.py [PORT [HOST]]
"""
# Python built in socket library
import socket
import sys  # sockstep: for the command line
import time  # sockstep: the tutorial calls time.sleep without importing time

# Use 127.0.0.1 if you are running the server program
# on the same computer you are running the client program
# Change the IP address if the server program
# is on another computer
SERVER_IP = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"  # sockstep: was "127.0.0.1"

# Specify the destination port
PORT = int(sys.argv[1]) if len(sys.argv) > 1 else 8081  # sockstep: was 8081


def main():
    # Create TCP IPV4 socket
    client_socket = socket.socket(
        socket.AF_INET,          # TCP/IP v4 address
        socket.SOCK_STREAM       # Create TCP socket
    )

    message = f"Hello Server, I have connected on port {PORT}"

    # Convert Unicode utf-8 string to byte data type
    data = message.encode("utf-8")

    # Connect to the server on the specified IP address and port
    client_socket.connect((SERVER_IP, PORT))

    # Send the bytestream
    client_socket.send(data)
    # Print message string to confirm transmission
    print(message)

    # Pause to allow communication to finish
    time.sleep(1)
    # Close the connection
    client_socket.close()
    print("Message sent. Socket closed.")


main()  # sockstep: was indented, so the program never ran
